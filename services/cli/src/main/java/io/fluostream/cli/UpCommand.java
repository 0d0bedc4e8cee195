package io.fluostream.cli;

import io.fluostream.cli.viewer.LiveViewer;
import io.fluostream.frames.TopicNames;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./fluostream up}: broker + four stages, running until interrupted. */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = "Start the Kafka broker and the four stage services; print READY; stop everything on Ctrl-C.")
final class UpCommand implements Callable<Integer> {

    @Option(names = "--partitions", description = "Partitions per frame topic (default ${DEFAULT-VALUE}).")
    int partitions = 2;

    @Option(names = "--run-dir", description = "Broker data, stream state and logs (default ${DEFAULT-VALUE}, under the checkout).")
    Path runDir = Path.of("run", "up");

    @Option(names = "--viewer-port", description = "Port of the live viewer web page (default ${DEFAULT-VALUE}; 0: no viewer).")
    int viewerPort = 8080;

    @Option(names = "--viewer-host", description = "Address the viewer listens on (default ${DEFAULT-VALUE}: this machine only; 0.0.0.0 to share it).")
    String viewerHost = "localhost";

    @Override
    public Integer call() throws Exception {
        Home home = Home.locate();
        Path dir = home.root().resolve(runDir);
        Stack stack = Stack.start(home, dir, Stack.Ports.defaults(), partitions, Map.of(), System.out::println);
        LiveViewer viewer = viewerPort == 0 ? null : LiveViewer.start(stack.bootstrap(), TopicNames.defaults(), viewerHost, viewerPort);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("stopping ...");
            if (viewer != null) {
                viewer.close();
            }
            stack.close();
            stopped.countDown();
        }, "up-shutdown"));
        System.out.println("broker " + stack.bootstrap() + "; stages: "
                + "denoise :8081/:9081, unmix :8082/:9082, stabilise :8083/:9083, flow :8084/:9084 (http/grpc); logs in " + dir.resolve("logs"));
        System.out.println("control: ./fluostream ctl STAGE status (token in " + Stack.tokenFile(dir) + ")");
        if (viewer != null) {
            System.out.println("viewer: http://" + viewerHost + ":" + viewer.port() + "/");
        }
        System.out.println("READY");
        System.out.flush();
        stopped.await();
        return 0;
    }
}
