"""mmdetection adapter: vMF / tau-norm bbox heads for Mask R-CNN on LVIS."""
from ltplug.registration import require

require('mmdet')

from ltplug.utils import import_submodules  # noqa: E402

import_submodules(__name__)
