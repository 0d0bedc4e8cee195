package io.fluostream.cli.ctl;

import com.google.protobuf.CodedInputStream;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The standard gRPC health check ({@code grpc.health.v1.Health/Check}) of a server, spoken directly:
 * the request is empty (the whole server) and the answer one enum field, so no generated stubs are
 * needed.
 */
final class HealthCheck {

    private static final String[] STATUS = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};

    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private static final MethodDescriptor<byte[], byte[]> CHECK = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("grpc.health.v1.Health/Check")
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();

    private HealthCheck() {
    }

    /** SERVING, NOT_SERVING, ... */
    static String check(Channel channel, Duration timeout) throws IOException {
        byte[] reply = ClientCalls.blockingUnaryCall(channel, CHECK,
                io.grpc.CallOptions.DEFAULT.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS), new byte[0]);
        CodedInputStream in = CodedInputStream.newInstance(reply);
        int status = 0;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (tag == (1 << 3)) {
                status = in.readEnum();
            } else {
                in.skipField(tag);
            }
        }
        return status < STATUS.length ? STATUS[status] : "status " + status;
    }
}
