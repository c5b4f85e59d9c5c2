"""The development mail sink: a real SMTP server that keeps what it receives, for `nebhx up`."""
