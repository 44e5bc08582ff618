"""DigiKnow Desk: the device-lending library and Digital Champions desk for digital inclusion."""

__version__ = "0.1.0"
