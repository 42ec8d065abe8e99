"""losses for the mmpretrain adapter (auto-imported)."""
from ltplug.utils import import_submodules

import_submodules(__name__)
