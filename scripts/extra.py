"""Print the requirements of one optional extra of pyproject.toml (`make bench-scale` installs `scale`)."""
import sys
import tomllib
from pathlib import Path

extras = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
print(" ".join(f"'{r}'" for r in extras["optional-dependencies"][sys.argv[1]]))
