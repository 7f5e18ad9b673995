"""Qt item models over the core's Photo values."""
