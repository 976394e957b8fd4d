"""The shared engine conformance suite, run against ts + local (warm workers and fresh processes)."""
from nascore.conformance import EngineConformance
from nascore.experiment.config import NasExperimentConfig


class TestTsLocalConformance(EngineConformance):
    def make_config(self, directory, **settings):
        settings.setdefault("trial_concurrency", 2)
        config = NasExperimentConfig("ts", None, "local", experiment_working_directory=str(directory), **settings)
        config.training_service.preload = []  # conformance trials need no torch: keep workers quick to start
        return config


class TestTsFreshProcessConformance(TestTsLocalConformance):
    def make_config(self, directory, **settings):
        config = super().make_config(directory, **settings)
        config.training_service.reuse_worker = False
        return config


from nascore.service_conformance import TrainingServiceConformance  # noqa: E402


class TestLocalServiceConformance(TrainingServiceConformance):
    """The training-service suite against the local service (warm workers)."""

    reuse_worker = True

    def make_service(self, directory, concurrency):
        from nascore_training_service.local import LocalTrainingService
        config = NasExperimentConfig("ts", None, "local", trial_concurrency=concurrency,
                                     experiment_working_directory=str(directory))
        config.training_service.preload = []
        config.training_service.reuse_worker = self.reuse_worker
        return LocalTrainingService(config)


class TestLocalFreshProcessServiceConformance(TestLocalServiceConformance):
    reuse_worker = False
