"""Audio itself: what a file holds (decoded and measured from its content), the min/max peaks pyramid, and waveform, spectrogram and playback windows that stay fast on hour-long files.

May import: core.store and core.errors.
"""
