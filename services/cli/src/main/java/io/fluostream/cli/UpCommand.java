package io.fluostream.cli;

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

    @Override
    public Integer call() throws Exception {
        Home home = Home.locate();
        Path dir = home.root().resolve(runDir);
        Stack stack = Stack.start(home, dir, Stack.Ports.defaults(), partitions, Map.of(), System.out::println);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("stopping ...");
            stack.close();
            stopped.countDown();
        }, "up-shutdown"));
        System.out.println("broker " + stack.bootstrap() + "; stages: "
                + "denoise :8081/:9081, unmix :8082/:9082, stabilise :8083/:9083, flow :8084/:9084 (http/grpc); logs in " + dir.resolve("logs"));
        System.out.println("READY");
        System.out.flush();
        stopped.await();
        return 0;
    }
}
