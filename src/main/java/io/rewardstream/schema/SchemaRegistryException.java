package io.rewardstream.schema;

/**
 * A schema-registry call failed: an HTTP error answer (with the HTTP status and the Confluent
 * {@code error_code}) or, with status {@link #NO_RESPONSE}, no answer at all after every retry.
 * The message names the method, the URL (without credentials) and the subject.
 *
 * <p>Common codes: 40401 subject not found, 40402 version not found, 40403 schema id not found,
 * 409 incompatible schema, 42201 invalid schema, 42203 invalid compatibility level, 50001-50003
 * registry-side errors.
 */
public class SchemaRegistryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Status used when the registry never answered (IO errors, timeouts). */
  public static final int NO_RESPONSE = -1;

  private final int httpStatus;
  private final int errorCode;
  private final String subject;

  public SchemaRegistryException(int httpStatus, int errorCode, String subject, String message, Throwable cause) {
    super(message, cause);
    this.httpStatus = httpStatus;
    this.errorCode = errorCode;
    this.subject = subject;
  }

  /** The HTTP status, or {@link #NO_RESPONSE}. */
  public int httpStatus() {
    return httpStatus;
  }

  /** Confluent's {@code error_code} from the answer body; the HTTP status when the body had none; -1 without an answer. */
  public int errorCode() {
    return errorCode;
  }

  /** The subject the call was about, or null (id lookups, global config). */
  public String subject() {
    return subject;
  }

  /** 404 of any kind (subject, version or schema id unknown). */
  public boolean isNotFound() {
    return httpStatus == 404;
  }

  /** 409: the registry refused the schema as incompatible with the subject's compatibility level. */
  public boolean isIncompatible() {
    return httpStatus == 409;
  }
}
