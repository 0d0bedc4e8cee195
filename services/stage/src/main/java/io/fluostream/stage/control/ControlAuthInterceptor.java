package io.fluostream.stage.control;

import io.fluostream.proto.AuditEntry;
import io.fluostream.proto.StageControlGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.net.SocketAddress;
import java.util.Optional;
import java.util.Set;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Bearer-token authentication of the StageControl API: a call must carry
 * {@code authorization: Bearer <token>} with one of the {@link ControlTokens}, or it is refused with
 * UNAUTHENTICATED (and audited). GetStatus and GetParameters may be opened to anyone with
 * {@code fluostream.control.open-status=true}. Other gRPC services (health, reflection) are open.
 * The token's name travels with the call as {@link #PRINCIPAL}, for the audit log.
 */
@GlobalInterceptor
@ApplicationScoped
public class ControlAuthInterceptor implements ServerInterceptor {

    /** The name of the token that made the current call. */
    public static final Context.Key<String> PRINCIPAL = Context.key("fluostream-principal");

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final Set<String> READ_ONLY = Set.of("GetStatus", "GetParameters");

    @Inject
    ControlPlane control;

    private ControlTokens tokens;
    private boolean openStatus;

    @PostConstruct
    void init() {
        var config = ConfigProvider.getConfig();
        tokens = ControlTokens.from(config);
        openStatus = config.getOptionalValue("fluostream.control.open-status", Boolean.class).orElse(false);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String service = call.getMethodDescriptor().getServiceName();
        if (!StageControlGrpc.SERVICE_NAME.equals(service)) {
            return next.startCall(call, headers);
        }
        String method = call.getMethodDescriptor().getBareMethodName();
        Optional<String> principal = principal(headers.get(AUTHORIZATION));
        if (principal.isEmpty() && openStatus && READ_ONLY.contains(method)) {
            principal = Optional.of("anonymous");
        }
        if (principal.isEmpty()) {
            String why = tokens.isEmpty()
                    ? "this stage has no control token configured: set fluostream.control.token (env FLUOSTREAM_CONTROL_TOKEN) and call with 'authorization: Bearer <token>'"
                    : headers.get(AUTHORIZATION) == null
                            ? "missing 'authorization: Bearer <token>' metadata (ctl: --token or FLUOSTREAM_TOKEN)"
                            : "the bearer token is not one of this stage's control tokens";
            SocketAddress peer = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
            control.audit(AuditEntry.newBuilder()
                    .setKind("call")
                    .setStage(control.stage())
                    .setInstance(control.instance())
                    .setPrincipal("unauthenticated")
                    .setCall(method)
                    .setAtUs(System.currentTimeMillis() * 1000)
                    .setResult(Status.Code.UNAUTHENTICATED.name())
                    .setMessage(why)
                    .setPeer(peer == null ? "" : peer.toString())
                    .build());
            control.countCall(method, Status.Code.UNAUTHENTICATED.name());
            call.close(Status.UNAUTHENTICATED.withDescription(why), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        Context ctx = Context.current().withValue(PRINCIPAL, principal.get());
        return Contexts.interceptCall(ctx, call, headers, next);
    }

    private Optional<String> principal(String authorization) {
        if (authorization == null) {
            return Optional.empty();
        }
        String a = authorization.trim();
        if (a.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return tokens.principal(a.substring(7));
        }
        return Optional.empty();
    }
}
