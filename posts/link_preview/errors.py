"""Why there is no card for a link: a short reason stored on the post."""


class PreviewError(Exception):
    """No preview for this URL; `reason` is a short code stored on the post."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class PreviewTimeout(PreviewError):
    """The site was too slow. The only error worth a retry."""

    def __init__(self, detail=""):
        super().__init__("timeout", detail)
