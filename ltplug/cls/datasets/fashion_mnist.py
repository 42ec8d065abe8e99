"""Fashion-MNIST read straight from the four IDX ``.gz`` files of the Debian package ``dataset-fashion-mnist``.

mmpretrain's ``FashionMNIST`` looks for decompressed files and offers to download them; this class reads the package's
gzip files in place (nothing is downloaded or written) and fails with the package name and the four file names when
they are missing. Wrap the train split in :class:`~ltplug.cls.datasets.long_tail.LongTailSubset` for Fashion-MNIST-LT.
"""
from __future__ import annotations

import gzip
import os.path as osp
from collections.abc import Sequence

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.datasets.categories import FASHIONMNIST_CATEGORITES
from mmpretrain.registry import DATASETS

from .base import LTDatasetMixin

DEBIAN_ROOT = '/usr/share/datasets/fashion-mnist'
FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}


def read_idx_gz(path: str, ndim: int) -> np.ndarray:
    """An unsigned-byte IDX array (magic 0x08, ``ndim`` dimensions) from a gzip file; a clear error on anything else."""
    with gzip.open(path, 'rb') as f:
        data = f.read()
    if len(data) < 4 + 4 * ndim or data[0] != 0 or data[1] != 0 or data[2] != 0x08 or data[3] != ndim:
        raise ValueError(f'{path}: not an unsigned-byte IDX file with {ndim} dimension(s) (header {data[:4]!r})')
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f'{path}: header says {shape} ({int(np.prod(shape))} bytes) but the file holds {body.size}')
    return body.reshape(shape)


@DATASETS.register_module()
class FashionMNISTGz(LTDatasetMixin, BaseDataset):
    """Fashion-MNIST (60,000 train / 10,000 test 28x28 grey-scale images, 10 balanced classes) from the IDX ``.gz``.

    Samples carry ``img`` (28x28x3 uint8, the grey value replicated to 3 channels so every mmpretrain transform and
    3-channel backbone applies), ``gt_label`` and ``raw_index`` (the position in the split's files).

    Args:
        data_root: folder of the four files; default where ``apt-get install dataset-fashion-mnist`` puts them.
        split: 'train' or 'test'.
        pipeline, test_mode, indices, metainfo, ...: as in mmpretrain's ``BaseDataset``.
    """

    METAINFO = {'classes': FASHIONMNIST_CATEGORITES}
    _images: np.ndarray | None = None

    def __init__(self, data_root: str = DEBIAN_ROOT, split: str = 'train', pipeline: Sequence = (),
                 test_mode: bool = False, **kwargs) -> None:
        if split not in FILES:
            raise ValueError(f'FashionMNISTGz: split must be one of {tuple(FILES)}, got {split!r}')
        self.split = split
        kwargs.setdefault('ann_file', '')
        super().__init__(data_root=data_root, pipeline=pipeline, test_mode=test_mode, **kwargs)

    def load_data_list(self) -> list[dict]:
        root = self.data_root
        missing = [n for pair in FILES.values() for n in pair if not osp.isfile(osp.join(root, n))]
        if missing:
            raise FileNotFoundError(
                f'FashionMNISTGz: {", ".join(missing)} not found under {root}. Expected the four files '
                f'{", ".join(n for pair in FILES.values() for n in pair)}; install them with '
                f'`apt-get install -y dataset-fashion-mnist` (Debian package, puts them under {DEBIAN_ROOT}) or set '
                'data_root to a folder holding them; nothing is downloaded.')
        img_file, label_file = (osp.join(root, n) for n in FILES[self.split])
        images = read_idx_gz(img_file, 3)
        labels = read_idx_gz(label_file, 1).astype(np.int64)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f'FashionMNISTGz: {img_file} has {images.shape[0]} images but {label_file} has '
                             f'{labels.shape[0]} labels')
        if labels.size and labels.max() >= len(self.METAINFO['classes']):
            raise ValueError(f'FashionMNISTGz: {label_file} has label {int(labels.max())} outside 0..9')
        self._loaded_labels = labels.copy()
        self._images = np.ascontiguousarray(images)  # the pixels stay one array; get_data_info adds them per sample
        return [{'gt_label': int(y), 'raw_index': i} for i, y in enumerate(labels.tolist())]

    def get_data_info(self, idx: int) -> dict:
        """The sample's info with its ``img`` (28x28x3 uint8, built on access: 60,000 small infos load fast)."""
        info = super().get_data_info(idx)
        info['img'] = np.repeat(self._images[info['raw_index']][..., None], 3, axis=-1)
        return info

    def extra_repr(self) -> list[str]:
        return [f'data_root: \t{self.data_root}', f'split: \t{self.split}']
