"""mmsegmentation adapter: the vMF decode-head classifier, long-tail segmentation metric."""
from ltplug.registration import require

require('mmseg')

from ltplug.utils import import_submodules  # noqa: E402

import_submodules(__name__)
