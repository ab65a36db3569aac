"""Gold annotations: the spec JSONL record, its validation, statistics, converters
from public corpora, exports for training and round trips through labeling tools."""

from .records import AnnotationError, Record, read_records, write_records

__all__ = ["AnnotationError", "Record", "read_records", "write_records"]
