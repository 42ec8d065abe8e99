"""``BCLMultiView``: the three views of BCL's training images (official ``main.py``, ``--cl_views``).

View 1 goes to the classification branch only, views 2 and 3 to the contrastive branch only:

=============  ===================  ===================
``cl_views``   view 2               view 3
=============  ===================  ===================
``sim-sim``    ``sim_pipeline``     ``sim_pipeline``
``sim-rand``   ``rand_pipeline``    ``sim_pipeline``
``rand-rand``  ``rand_pipeline``    ``rand_pipeline``
=============  ===================  ===================

(official: ``sim`` = ``augmentation_sim``, ``rand`` = ``augmentation_randnclsstack``, view 1 =
``augmentation_randncls``).
``rand-rand`` is what the README and its 57.8 % checkpoint call it; the released ``main.py`` names the branch
``randstack-randstack`` and raises ``NotImplementedError`` for ``rand-rand``. Both names are accepted here.
It is mmpretrain's ``MultiView`` with the view pipelines picked by mode; follow it with ``PackInputs`` (the packed
``inputs`` is then a list of 3 tensors, which ``BCLDataPreprocessor`` batches per view).
"""
from __future__ import annotations

from collections.abc import Sequence

from mmpretrain.datasets.transforms import MultiView
from mmpretrain.registry import TRANSFORMS

CL_VIEWS = ('sim-sim', 'sim-rand', 'rand-rand')
_ALIASES = {'randstack-randstack': 'rand-rand'}
# which contrastive pipeline gives views 2 and 3 in each mode
_VIEW_KINDS = {'sim-sim': ('sim', 'sim'), 'sim-rand': ('rand', 'sim'), 'rand-rand': ('rand', 'rand')}


@TRANSFORMS.register_module()
class BCLMultiView(MultiView):
    """Three views per image: view 1 from ``cls_pipeline``, views 2 and 3 from the contrastive pipelines of the mode.

    Args:
        cls_pipeline: transforms of view 1 (the classification branch; officially RandomResizedCrop, flip,
            ColorJitter(0.4, 0.4, 0.4, 0) with p = 1 and RandAugment rand-n2-m10-mstd0.5).
        sim_pipeline: the SimCLR/MoCo-v2 style contrastive transforms (RandomResizedCrop, flip, ColorJitter(0.4, 0.4,
            0.4, 0.1) with p = 0.8, RandomGrayscale 0.2); needed by 'sim-sim' and 'sim-rand'.
        rand_pipeline: the contrastive transforms followed by RandAugment; needed by 'sim-rand' and 'rand-rand'.
        cl_views: 'sim-sim' (official default), 'sim-rand' or 'rand-rand' (alias 'randstack-randstack').
    """

    def __init__(self, cls_pipeline: Sequence, sim_pipeline: Sequence | None = None,
                 rand_pipeline: Sequence | None = None, cl_views: str = 'sim-sim') -> None:
        mode = _ALIASES.get(cl_views, cl_views)
        if mode not in CL_VIEWS:
            raise ValueError(f'BCLMultiView: cl_views must be one of {CL_VIEWS} (or "randstack-randstack"), got '
                             f'{cl_views!r}')
        pipelines = {'sim': sim_pipeline, 'rand': rand_pipeline}
        for name, pipe in (('cls_pipeline', cls_pipeline), ('sim_pipeline', sim_pipeline),
                           ('rand_pipeline', rand_pipeline)):
            if pipe is not None and (isinstance(pipe, (str, dict)) or not isinstance(pipe, Sequence)):
                raise ValueError(f'BCLMultiView: {name} must be a list of transforms, got {type(pipe).__name__}')
        if cls_pipeline is None:
            raise ValueError('BCLMultiView: cls_pipeline (the transforms of view 1) is required')
        kinds = _VIEW_KINDS[mode]
        for kind in set(kinds):
            if pipelines[kind] is None:
                what = 'SimAugment + RandAugment' if kind == 'rand' else 'SimAugment'
                raise ValueError(f'BCLMultiView: cl_views={mode!r} needs {kind}_pipeline (the {what} contrastive '
                                 'transforms)')
        self.cl_views = mode
        self.view_kinds = ('cls', *kinds)
        if kinds[0] == kinds[1]:  # one pipeline object drawn twice (independent random draws per call)
            super().__init__(transforms=[list(cls_pipeline), list(pipelines[kinds[0]])], num_views=[1, 2])
        else:
            super().__init__(transforms=[list(cls_pipeline), list(pipelines[kinds[0]]), list(pipelines[kinds[1]])],
                             num_views=[1, 1, 1])

    def __repr__(self) -> str:
        return f'{type(self).__name__}(cl_views={self.cl_views!r}, views={self.view_kinds}, ' + \
            super().__repr__().split('(', 1)[1]
