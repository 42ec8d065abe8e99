"""mmengine-level components (root registries: every scope sees them): hooks, samplers, schedulers."""
from ltplug.utils import import_submodules

import_submodules(__name__)
