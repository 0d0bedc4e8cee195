package io.fluostream.tiff;

import java.io.IOException;

/**
 * A file FluoStream cannot take as a stack: not a TIFF, truncated, inconsistent pages, an
 * unsupported sample type or layout. The message says what was wrong and what to do.
 */
public final class TiffFormatException extends IOException {

    public TiffFormatException(String message) {
        super(message);
    }

    public TiffFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
