"""Share fitted models safely: safetensors weights, JSON settings, a model card.

:func:`~skgalvae.save_pretrained` and :func:`~skgalvae.load_pretrained`
(imported from :mod:`skgalvae`) write and read a directory that holds no
code; :func:`~skgalvae.sharing_types` lists the types to trust when a
Pipeline is shared with skops instead. The directory's files are written in
``_files``, the JSON form of fitted state in ``_codec``, the model card in
``_card``.
"""

from ._files import load_pretrained, save_pretrained, sharing_types

__all__ = ["load_pretrained", "save_pretrained", "sharing_types"]
