package io.fluostream.cli.bench;

import picocli.CommandLine.Option;

/** {@code --device cpu|djl-cpu|gpu} of a stage bench (a picocli mixin): where its speed is measured. */
public final class DeviceOption {

    @Option(names = "--device", paramLabel = "cpu|djl-cpu|gpu",
            description = "Where the stage's speed is measured: cpu (pure-Java kernels), djl-cpu (the device code on"
                    + " libtorch's CPU kernels) or gpu (CUDA; reported as null with the reason when there is none)."
                    + " Default ${DEFAULT-VALUE}.")
    String device = "cpu";

    public String device() {
        return device;
    }
}
