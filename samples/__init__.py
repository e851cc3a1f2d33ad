"""The sample campaign and the generator that builds its media."""
