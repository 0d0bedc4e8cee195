package io.fluostream.tiff;

/** The sample types FluoStream carries, as they are stored in a TIFF page and named in OME-XML. */
public enum SampleType {
    UINT8(1, "uint8"),
    UINT16(2, "uint16"),
    FLOAT32(4, "float");

    private final int bytes;
    private final String omeName;

    SampleType(int bytes, String omeName) {
        this.bytes = bytes;
        this.omeName = omeName;
    }

    public int bytes() {
        return bytes;
    }

    /** The value of OME {@code Pixels/@Type}. */
    public String omeName() {
        return omeName;
    }

    static SampleType fromOme(String type) {
        for (SampleType t : values()) {
            if (t.omeName.equals(type)) {
                return t;
            }
        }
        return null;
    }
}
