"""Alembic environment for the tables the pipeline owns (run through ``zoho.warehouse.schema``)."""
from alembic import context
from sqlalchemy import create_engine, text

config = context.config
url = config.get_main_option("sqlalchemy.url")


def run_migrations_online() -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.execute(text("create schema if not exists zoho_sync"))
        connection.commit()
        context.configure(connection=connection, version_table="alembic_version",
                          version_table_schema="zoho_sync", transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
