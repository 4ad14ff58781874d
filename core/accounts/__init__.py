"""Who people and bots are and what they may do: users (bcrypt passwords), the login cookie's key, API credentials (Basic and Bearer tokens), signed tokens and the one table of role rules.

May import: core.store and core.errors.
"""
