package io.fluostream.stage;

/**
 * A stage-specific control call with arguments the stage cannot take; the message says what was
 * wrong and what to do. Answered with INVALID_ARGUMENT, and nothing is sent to the replicas.
 */
public final class InvalidCommandException extends IllegalArgumentException {

    public InvalidCommandException(String message) {
        super(message);
    }

    public InvalidCommandException(String message, Throwable cause) {
        super(message, cause);
    }
}
