"""GET endpoints: invoices (with their customer), customers, reminders. (Being written.)"""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
