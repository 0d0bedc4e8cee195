package io.fluostream.cli.tiff;

/** Frames that cannot be written as one series; the message says why and what to do. */
public final class ExportException extends Exception {

    public ExportException(String message) {
        super(message);
    }

    public ExportException(String message, Throwable cause) {
        super(message, cause);
    }
}
