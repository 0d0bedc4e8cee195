package io.fluostream.e2e;

import io.fluostream.cli.FrameCollector;
import io.fluostream.cli.Home;
import io.fluostream.cli.PipelineAudit;
import io.fluostream.cli.PipelineStage;
import io.fluostream.cli.Stack;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.rig.RigOptions;
import io.fluostream.rig.RigSimulator;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One running pipeline shared by the e2e test classes that use it (control plane, dashboards,
 * viewer): a broker and the four packaged stages, with a few simulated frames already through every
 * stage. Started by the first class that needs it, stopped when the whole run ends (JUnit closes
 * it from its root store). A class that changes the pipeline (a parameter, a pause, a replica) puts
 * it back before it ends.
 */
final class SharedPipeline implements BeforeAllCallback {

    static final RigOptions RIG = new RigOptions(2, 6, 0, SimulationSettings.defaults().withSize(64, 64).withSeed(3));

    /** The running pipeline. */
    static final class Running implements AutoCloseable {
        final Stack stack;
        final TopicNames names = TopicNames.defaults();

        Running(Stack stack) {
            this.stack = stack;
        }

        String token() {
            return stack.controlToken();
        }

        int grpc(PipelineStage s) {
            return stack.ports().grpc(s);
        }

        int http(PipelineStage s) {
            return stack.ports().http(s);
        }

        @Override
        public void close() {
            stack.close();
        }
    }

    private static Running running;

    static Running get() {
        if (running == null) {
            throw new IllegalStateException("annotate the test class with @ExtendWith(SharedPipeline.class)");
        }
        return running;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        running = context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
                .computeIfAbsent(SharedPipeline.class.getName(), k -> start(), Running.class);
    }

    private static Running start() {
        try {
            Stack stack = Stack.start(Home.locate(), Files.createTempDirectory("fluostream-shared"), Stack.Ports.free(), 2,
                    Map.of(), System.out::println);
            Running r = new Running(stack);
            new RigSimulator(RIG).publish(stack.bootstrap(), r.names.name(io.fluostream.frames.Topic.RAW), System.out::println);
            PipelineAudit audit = new PipelineAudit(r.names);
            try (FrameCollector c = new FrameCollector(stack.bootstrap(), audit.topics())) {
                if (!c.collect(audit::accept, () -> audit.complete(RIG.streams() * RIG.frames()), Duration.ofSeconds(120))) {
                    stack.close();
                    throw new IllegalStateException("the simulated frames did not all reach the last stage");
                }
            }
            return r;
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("could not start the shared pipeline: " + e.getMessage(), e);
        }
    }
}
