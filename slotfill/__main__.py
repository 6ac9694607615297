"""`python -m slotfill ...`: the same command line as the installed `slotfill`."""

from slotfill.cli import main

if __name__ == "__main__":
    main()
