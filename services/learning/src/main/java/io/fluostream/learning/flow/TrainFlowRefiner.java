package io.fluostream.learning.flow;

import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.PyramidalFlow;
import io.fluostream.imaging.flow.SignalMask;
import io.fluostream.imaging.flow.SimulatedFlowPair;
import io.fluostream.imaging.sim.SimulationSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Trains the learned flow estimator from scratch on forward-model simulations and writes the
 * model file the flow stage ships ({@link LearnedFlowRefiner#SHIPPED}), then scores it against the
 * pyramidal estimate on held-out simulated pairs. Deterministic in its draws (fixed seeds);
 * libtorch's CPU kernels may still differ in the last bits between machines.
 *
 * <pre>
 * mvn -q -o -pl services/learning -am install -DskipTests
 * mvn -q -o -pl services/learning dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
 * java -Dai.djl.offline=true -Xmx6g \
 *     -cp "services/learning/target/classes:$(cat services/learning/target/classpath.txt)" \
 *     io.fluostream.learning.flow.TrainFlowRefiner [--out FILE] [--streams N] [--steps N] [--threads N]
 * </pre>
 * run from the repository root; without {@code --out} it overwrites the shipped model in
 * {@code services/learning/src/main/resources}.
 *
 * <p>The defaults made the shipped model (19 minutes on 2 cores shared with a load average of
 * ~15: 2.3 min simulating, 17 min training): 120 simulated 256×256 streams × 4 pairs, 1600 Adam
 * steps (learning rate 0.003, cosine decay) of 8 crops of 64×64 pooled px (whole frames, mirrored
 * and transposed at random), a width-12 network, one libtorch thread (more spin-wait on a busy
 * machine). It then reports held-out endpoint errors: 2 other streams per benchmark key.
 */
public final class TrainFlowRefiner {

    private TrainFlowRefiner() {
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of("services/learning/src/main/resources" + LearnedFlowRefiner.SHIPPED);
        int streams = 120;
        int pairs = 4;
        int steps = 1600;
        int threads = 1;
        int width = 12;
        int crop = 64;
        int batch = 8;
        float learningRate = 3e-3f;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--out" -> out = Path.of(require(args[i], value));
                case "--streams" -> streams = Integer.parseInt(require(args[i], value));
                case "--pairs" -> pairs = Integer.parseInt(require(args[i], value));
                case "--steps" -> steps = Integer.parseInt(require(args[i], value));
                case "--threads" -> threads = Integer.parseInt(require(args[i], value));
                case "--width" -> width = Integer.parseInt(require(args[i], value));
                case "--crop" -> crop = Integer.parseInt(require(args[i], value));
                case "--batch" -> batch = Integer.parseInt(require(args[i], value));
                case "--lr" -> learningRate = Float.parseFloat(require(args[i], value));
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; options: --out FILE --streams N --pairs N --steps N --threads N --width N --crop N --batch N --lr X");
            }
            i++;
        }
        // Before the engine loads: libtorch otherwise takes every core, and its OpenMP workers
        // spin while they wait (on a shared machine one thread trained 10x faster than two).
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");

        long start = System.nanoTime();
        List<FlowTrainingSet.Example> training = FlowTrainingSet.simulate(streams, pairs, 256, 1,
                SimulatedFlowPair.Input.RAW, System.out::println);
        System.out.printf(Locale.ROOT, "training set: %d pairs in %.0f s%n", training.size(), seconds(start));
        FlowRefinerTraining.Settings settings = new FlowRefinerTraining.Settings(width, crop, batch, steps, learningRate, 7, true);
        String version = "flow-refiner-w" + width + "-" + LocalDate.now();
        String description = String.format(Locale.ROOT,
                "U-Net width %d on the pyramidal (low-light) estimate; %d simulated 256x256 pairs (raw offset-free,"
                        + " %.0f-%.0f e-, %.1f-%.0f px/frame), %d steps x %d crops of %d px at a quarter of the resolution",
                width, training.size(), FlowTrainingSet.MIN_PHOTONS, FlowTrainingSet.MAX_PHOTONS,
                FlowTrainingSet.MIN_FLOW, FlowTrainingSet.MAX_FLOW, steps, batch, crop);
        FlowRefinerTraining.Result result = FlowRefinerTraining.train(training, settings, version, description,
                System.out::println);
        System.out.printf(Locale.ROOT, "trained in %.0f s: loss %.4f px (first 50 steps) -> %.4f px (last 50)%n",
                seconds(start), result.meanLoss(0, Math.min(50, steps)), result.meanLoss(Math.max(0, steps - 50), steps));

        try (LearnedFlowRefiner refiner = LearnedFlowRefiner.fromBytes(result.model())) {
            heldOut(refiner);
        }
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.write(out, result.model());
        System.out.printf(Locale.ROOT, "wrote %s (%d bytes), version %s%n", out, result.model().length, version);
    }

    /** Endpoint errors of the pyramidal estimate and of the learned one on held-out pairs, by light level. */
    static void heldOut(LearnedFlowRefiner refiner) {
        PyramidalFlow variational = new PyramidalFlow(PyramidalFlow.Settings.lowLight());
        for (double photons : new double[] {5, 20, 100}) {
            for (double maxFlow : new double[] {1, 4, 10}) {
                List<double[]> errors = new ArrayList<>();
                for (int stream = 0; stream < 2; stream++) {
                    SimulationSettings s = SimulationSettings.defaults().withMaxDriftPx(0).withPhotonLevel(photons)
                            .withMaxFlowPxPerFrame(maxFlow).withSeed(9000 + stream);
                    SimulatedFlowPair pair = SimulatedFlowPair.simulate(s, 0, 1, SimulatedFlowPair.Input.RAW);
                    SignalMask mask = pair.signalMask(FlowTrainingSet.BORDER_MARGIN);
                    FlowField estimate = variational.estimate(pair.previous(), pair.next());
                    double before = FlowField.endpointError(estimate, pair.truth(), mask);
                    refiner.refine(pair.previous(), pair.next(), estimate);
                    errors.add(new double[] {before, FlowField.endpointError(estimate, pair.truth(), mask)});
                }
                double v = errors.stream().mapToDouble(e -> e[0]).average().orElse(Double.NaN);
                double l = errors.stream().mapToDouble(e -> e[1]).average().orElse(Double.NaN);
                System.out.printf(Locale.ROOT, "held out p%.0f_d%.0f: variational %.3f px, learned %.3f px%n",
                        photons, maxFlow, v, l);
            }
        }
    }

    private static String require(String option, String value) {
        if (value == null) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return value;
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
