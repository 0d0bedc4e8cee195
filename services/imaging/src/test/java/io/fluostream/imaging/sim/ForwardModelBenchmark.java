package io.fluostream.imaging.sim;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Prints the forward model's time per frame (a benchmark, not a test), as wall time and as this
 * thread's CPU time (the latter is what one core costs, even on a machine shared with other work).
 * Run after
 * {@code mvn -pl services/imaging test-compile}:
 * {@code java -cp services/imaging/target/classes:services/imaging/target/test-classes
 * io.fluostream.imaging.sim.ForwardModelBenchmark [height width channels fluorophores frames]}.
 */
public final class ForwardModelBenchmark {

    private ForwardModelBenchmark() {
    }

    public static void main(String[] args) {
        int h = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int w = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int c = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        int f = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        int frames = args.length > 4 ? Integer.parseInt(args[4]) : 400;
        SimulationSettings settings = SimulationSettings.defaults().withSize(h, w).withChannelsAndFluorophores(c, f);

        long start = System.nanoTime();
        ForwardModel model = new ForwardModel(settings, 0);
        double constructMs = (System.nanoTime() - start) / 1e6;

        double sink = 0;
        for (int t = 0; t < 50; t++) { // warm-up: let the JIT compile the hot loops
            sink += model.frame(t).raw().data()[0];
        }
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long cpuStart = threads.getCurrentThreadCpuTime();
        start = System.nanoTime();
        for (int t = 0; t < frames; t++) {
            sink += model.frame(t).raw().data()[0];
        }
        double wallMs = (System.nanoTime() - start) / 1e6 / frames;
        double cpuMs = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e6 / frames;
        System.out.printf("forward model %dx%d C=%d F=%d: construct %.1f ms; per frame %.2f ms CPU, %.2f ms wall,"
                + " over %d frames (sink %.0f)%n", h, w, c, f, constructMs, cpuMs, wallMs, frames, sink);
    }
}
