"""The pure domain core: rules and data types, no I/O and no clock."""
