package io.fluostream.cli.ctl;

import io.fluostream.proto.StageControlGrpc;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC connection to one stage replica's control API, presenting a bearer token on every call.
 * Plain text by default; TLS with the system's trust store, or with a given CA certificate (PEM).
 */
public final class ControlClient implements AutoCloseable {

    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final ManagedChannel channel;
    private final String token;
    private final Duration timeout;

    private ControlClient(ManagedChannel channel, String token, Duration timeout) {
        this.channel = channel;
        this.token = token;
        this.timeout = timeout;
    }

    /**
     * @param target host:port of the stage's gRPC server
     * @param token  bearer token, or null to call without one (only open calls will succeed)
     * @param caCert CA certificate (PEM) to trust for TLS, or null for the system trust store
     */
    public static ControlClient connect(String target, String token, boolean tls, Path caCert, Duration timeout) throws IOException {
        ChannelCredentials credentials;
        if (tls || caCert != null) {
            TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
            if (caCert != null) {
                b.trustManager(caCert.toFile());
            }
            credentials = b.build();
        } else {
            credentials = InsecureChannelCredentials.create();
        }
        return new ControlClient(Grpc.newChannelBuilder(target, credentials).build(), token, timeout);
    }

    /** A stub whose calls carry the token and a deadline. */
    public StageControlGrpc.StageControlBlockingStub stub() {
        StageControlGrpc.StageControlBlockingStub s = StageControlGrpc.newBlockingStub(channel)
                .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (token != null && !token.isBlank()) {
            Metadata m = new Metadata();
            m.put(AUTHORIZATION, "Bearer " + token.trim());
            s = s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
        }
        return s;
    }

    public ManagedChannel channel() {
        return channel;
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
