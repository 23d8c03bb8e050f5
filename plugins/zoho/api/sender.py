"""The reminder sender's endpoints: claim, sent, failed. (Being written.)"""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
