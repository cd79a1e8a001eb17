"""python3 -m nfi_torch: the command line (nfi_torch.cli)."""
import sys

from nfi_torch.cli import main

sys.exit(main(sys.argv[1:]))
