package io.fluostream.stage;

/** A parameter value that is not allowed; the message names the parameter and what is allowed. */
public final class InvalidParameterException extends IllegalArgumentException {

    private final String parameter;

    public InvalidParameterException(String parameter, String message) {
        super(message);
        this.parameter = parameter;
    }

    public String parameter() {
        return parameter;
    }
}
