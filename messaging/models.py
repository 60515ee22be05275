# Models for this app arrive with its issue; see docs/ and the issue tracker.
