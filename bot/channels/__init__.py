"""Channels translate a platform's format to engine turns and back; they decide nothing."""
