"""mmpretrain adapter: long-tailed datasets, heads, losses, models, transforms and metrics for classification."""
from ltplug.registration import require

require('mmpretrain')

from ltplug.utils import import_submodules  # noqa: E402

import_submodules(__name__)
