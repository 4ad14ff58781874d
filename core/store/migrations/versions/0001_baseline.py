"""Baseline: the schema of the release before migrations

Tables as the release before migrations created them, plus (SQLite only) the FTS5 trigram index of sounds'
paths and titles, kept in step by triggers.

Revision ID: 0001
Revises: 
Created: 2026-11-27 18:22:28.970179
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

SQLITE_TEXT_INDEX = (
    "CREATE VIRTUAL TABLE sound_search USING fts5(path, title, content='sounds', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER sound_search_insert AFTER INSERT ON sounds BEGIN "
    "INSERT INTO sound_search(rowid, path, title) VALUES (new.rowid, new.path, new.title); END",
    "CREATE TRIGGER sound_search_delete AFTER DELETE ON sounds BEGIN "
    "INSERT INTO sound_search(sound_search, rowid, path, title) VALUES ('delete', old.rowid, old.path, old.title); END",
    "CREATE TRIGGER sound_search_update AFTER UPDATE OF path, title ON sounds BEGIN "
    "INSERT INTO sound_search(sound_search, rowid, path, title) VALUES ('delete', old.rowid, old.path, old.title); "
    "INSERT INTO sound_search(rowid, path, title) VALUES (new.rowid, new.path, new.title); END",
)


def upgrade() -> None:
    op.create_table('login_failures',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_name', sa.String(length=64), nullable=False),
    sa.Column('user_type', sa.String(length=16), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=100), nullable=False),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('about_me', sa.Text(), nullable=True),
    sa.Column('info_url', sa.Text(), nullable=True),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_name')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_user_type'), ['user_type'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_sha256')
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('jobs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('analyzer', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=16), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('submitted_by', sa.String(length=32), nullable=False),
    sa.Column('worker', sa.String(length=128), nullable=True),
    sa.Column('heartbeat', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('output', sa.JSON(), nullable=False),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_submitted_by'), ['submitted_by'], unique=False)

    op.create_table('stored_files',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=1024), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('original_filename', sa.String(length=512), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stored_files_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_stored_files_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_stored_files_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stored_files_purpose'), ['purpose'], unique=False)
        batch_op.create_index(batch_op.f('ix_stored_files_sha256'), ['sha256'], unique=False)

    op.create_table('tag_vocabulary',
    sa.Column('dataset', sa.String(length=128), nullable=False),
    sa.Column('tag', sa.String(length=128), nullable=False),
    sa.Column('color', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('dataset', 'tag')
    )
    with op.batch_alter_table('tag_vocabulary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_vocabulary_created_by'), ['created_by'], unique=False)

    op.create_table('job_items',
    sa.Column('job_id', sa.String(length=32), nullable=False),
    sa.Column('sound_id', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('worker', sa.String(length=128), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'sound_id')
    )
    op.create_table('sounds',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('dataset', sa.String(length=128), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('title', sa.String(length=512), nullable=False),
    sa.Column('file_id', sa.String(length=32), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('format', sa.String(length=16), nullable=True),
    sa.Column('subtype', sa.String(length=32), nullable=True),
    sa.Column('sample_rate', sa.Integer(), nullable=True),
    sa.Column('channels', sa.Integer(), nullable=True),
    sa.Column('frames', sa.Integer(), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=False),
    sa.Column('info_url', sa.Text(), nullable=True),
    sa.Column('audio_url', sa.Text(), nullable=True),
    sa.Column('license_type', sa.Text(), nullable=True),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('annotation_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset', 'path', name='uq_sound_dataset_path'),
    sa.UniqueConstraint('dataset', 'sha256', name='uq_sound_dataset_sha256'),
    sa.UniqueConstraint('file_id')
    )
    with op.batch_alter_table('sounds', schema=None) as batch_op:
        batch_op.create_index('ix_sounds_annotations_id', ['annotation_count', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sounds_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_sounds_dataset'), ['dataset'], unique=False)
        batch_op.create_index('ix_sounds_dataset_id', ['dataset', 'id'], unique=False)
        batch_op.create_index('ix_sounds_dataset_path_id', ['dataset', 'path', 'id'], unique=False)
        batch_op.create_index('ix_sounds_duration_id', ['duration_seconds', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sounds_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_sounds_path_id', ['path', 'id'], unique=False)

    op.create_table('annotations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('sound_id', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('start_seconds', sa.Float(), nullable=False),
    sa.Column('duration_seconds', sa.Float(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('data_url', sa.Text(), nullable=True),
    sa.Column('channel', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=160), nullable=True),
    sa.Column('date_created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('date_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['sound_id'], ['sounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annotations_created_by'), ['created_by'], unique=False)
        batch_op.create_index('ix_annotations_sound_start', ['sound_id', 'start_seconds'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotations_source'), ['source'], unique=False)

    op.create_table('reviewed_suggestions',
    sa.Column('sound_id', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=160), nullable=False),
    sa.Column('start_ms', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('reviewed_by', sa.String(length=32), nullable=True),
    sa.Column('date_reviewed', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sound_id'], ['sounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sound_id', 'source', 'start_ms', 'duration_ms')
    )
    op.create_table('sound_fields',
    sa.Column('sound_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['sound_id'], ['sounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sound_id', 'name')
    )
    with op.batch_alter_table('sound_fields', schema=None) as batch_op:
        batch_op.create_index('ix_sound_fields_name_value', ['name', 'value', 'sound_id'], unique=False)

    op.create_table('sound_tags',
    sa.Column('sound_id', sa.String(length=32), nullable=False),
    sa.Column('tag', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['sound_id'], ['sounds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sound_id', 'tag')
    )
    with op.batch_alter_table('sound_tags', schema=None) as batch_op:
        batch_op.create_index('ix_sound_tags_tag', ['tag', 'sound_id'], unique=False)

    op.create_table('annotation_tags',
    sa.Column('annotation_id', sa.String(length=32), nullable=False),
    sa.Column('tag', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('annotation_id', 'tag')
    )
    with op.batch_alter_table('annotation_tags', schema=None) as batch_op:
        batch_op.create_index('ix_annotation_tags_tag', ['tag', 'annotation_id'], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TEXT_INDEX:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS sound_search")
    with op.batch_alter_table('annotation_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_annotation_tags_tag')

    op.drop_table('annotation_tags')
    with op.batch_alter_table('sound_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_sound_tags_tag')

    op.drop_table('sound_tags')
    with op.batch_alter_table('sound_fields', schema=None) as batch_op:
        batch_op.drop_index('ix_sound_fields_name_value')

    op.drop_table('sound_fields')
    op.drop_table('reviewed_suggestions')
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_annotations_source'))
        batch_op.drop_index('ix_annotations_sound_start')
        batch_op.drop_index(batch_op.f('ix_annotations_created_by'))

    op.drop_table('annotations')
    with op.batch_alter_table('sounds', schema=None) as batch_op:
        batch_op.drop_index('ix_sounds_path_id')
        batch_op.drop_index(batch_op.f('ix_sounds_expires_at'))
        batch_op.drop_index('ix_sounds_duration_id')
        batch_op.drop_index('ix_sounds_dataset_path_id')
        batch_op.drop_index('ix_sounds_dataset_id')
        batch_op.drop_index(batch_op.f('ix_sounds_dataset'))
        batch_op.drop_index(batch_op.f('ix_sounds_created_by'))
        batch_op.drop_index('ix_sounds_annotations_id')

    op.drop_table('sounds')
    op.drop_table('job_items')
    with op.batch_alter_table('tag_vocabulary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_vocabulary_created_by'))

    op.drop_table('tag_vocabulary')
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_files_sha256'))
        batch_op.drop_index(batch_op.f('ix_stored_files_purpose'))
        batch_op.drop_index(batch_op.f('ix_stored_files_expires_at'))
        batch_op.drop_index(batch_op.f('ix_stored_files_created_by'))
        batch_op.drop_index(batch_op.f('ix_stored_files_category'))

    op.drop_table('stored_files')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_submitted_by'))
        batch_op.drop_index(batch_op.f('ix_jobs_state'))

    op.drop_table('jobs')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_user_type'))

    op.drop_table('users')
    op.drop_table('login_failures')
