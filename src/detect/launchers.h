// One factory per launcher; each lives in its own file (slurm.cc, ompi.cc,
// ...). The order they are tried in is the registry table (registry.cc).
#pragma once

#include "detect/detector.h"

namespace rankwrap::detect {

Detector NestedDetector();
Detector TorchrunDetector();
Detector OmpiDetector();
Detector MvapichDetector();
Detector HydraDetector();
Detector PalsDetector();
Detector FluxDetector();
Detector LsfDetector();
Detector SlurmDetector();
Detector PbsDetector();
Detector KubeflowDetector();
Detector PytorchJobDetector();
Detector IndexedJobDetector();
Detector AwsBatchDetector();
Detector SkypilotDetector();
Detector AzureBatchDetector();
Detector GcpBatchDetector();
Detector GridEngineDetector();
Detector PrrteDetector();
Detector AlpsDetector();
Detector InheritedDetector();
Detector StandaloneDetector();

}  // namespace rankwrap::detect
