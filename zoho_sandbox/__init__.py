"""A local stand-in for the Zoho Books API v3 (and Zoho Accounts' token endpoint).

    from zoho_sandbox import Sandbox
    with Sandbox(seed=7, orgs=2, contacts_per_org=300, invoices_per_org=2000) as sb:
        sb.url, sb.organizations, sb.airflow_connection(0)

Standard library only. See README.md for routes, knobs and the behaviours that are assumptions.
"""
from .clock import Clock
from .data import NotFound
from .faults import KINDS as FAULT_KINDS
from .generator import Org
from .sandbox import Call, Sandbox

__all__ = ["Sandbox", "Org", "Call", "Clock", "NotFound", "FAULT_KINDS"]
