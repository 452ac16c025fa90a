package io.rewardstream.gateway;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BearerAuthTest {
    private final BearerAuth auth = new BearerAuth("s3cret-token-0123456789");

    @Test
    void shouldAcceptTheTokenWithAnyCaseOfTheScheme() {
        assertThat(auth.accepts("Bearer s3cret-token-0123456789")).isTrue();
        assertThat(auth.accepts("bearer s3cret-token-0123456789")).isTrue();
        assertThat(auth.accepts("  BEARER   s3cret-token-0123456789 ")).isTrue();
    }

    @Test
    void shouldRejectMissingWrongOrPartialTokens() {
        assertThat(auth.accepts(null)).isFalse();
        assertThat(auth.accepts("")).isFalse();
        assertThat(auth.accepts("Bearer")).isFalse();
        assertThat(auth.accepts("Bearer ")).isFalse();
        assertThat(auth.accepts("Bearer s3cret-token-012345678")).isFalse();
        assertThat(auth.accepts("Bearer s3cret-token-01234567890")).isFalse();
        assertThat(auth.accepts("Basic s3cret-token-0123456789")).isFalse();
        assertThat(auth.accepts("s3cret-token-0123456789")).isFalse();
    }

    @Test
    void shouldRefuseABlankToken() {
        assertThatThrownBy(() -> new BearerAuth(" ")).isInstanceOf(IllegalArgumentException.class);
    }
}
