package io.fluostream.cli;

import io.fluostream.frames.Topic;
import io.fluostream.rig.RigOptions;
import io.fluostream.rig.RigSimulator;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ./fluostream rig}: publish simulated streams to a running broker. */
@Command(name = "rig", mixinStandardHelpOptions = true,
        description = "Publish synthetic fluorescence time-lapse streams (known drift, flow, spectra, noise) to the raw topic.")
final class RigCommand implements Callable<Integer> {

    @Option(names = "--bootstrap", description = "Kafka bootstrap servers (default ${DEFAULT-VALUE}, the broker of ./fluostream up).")
    String bootstrap = "localhost:9092";

    @Option(names = "--topic", description = "Topic to publish to (default ${DEFAULT-VALUE}).")
    String topic = Topic.RAW.defaultName();

    @Mixin
    SimulationOptions simulation = new SimulationOptions();

    @Override
    public Integer call() throws Exception {
        RigOptions options = simulation.toRigOptions();
        RigSimulator.Published p = new RigSimulator(options).publish(bootstrap, topic, System.out::println);
        System.out.printf("published %d streams x %d frames (%.1f MiB) to %s in %.1f s%n",
                p.streams(), p.frames(), p.bytes() / 1048576.0, topic, p.seconds());
        return 0;
    }
}
