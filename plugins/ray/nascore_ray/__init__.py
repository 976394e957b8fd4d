"""nascore-ray: training service ``ray`` -- trials on a Ray cluster (see README.md). Light: ray loads on use."""
from nascore.lazy import lazy_exports

from nascore_ray.config import RayConfig

__all__ = ["RayConfig", "RayTrainingService"]
__getattr__, __dir__ = lazy_exports(__name__, {"RayTrainingService": ".service"})
