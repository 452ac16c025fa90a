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
    void shouldAcceptTheTokenAsAccessTokenQueryParameter() {
        assertThat(auth.acceptsQuery("access_token=s3cret-token-0123456789")).isTrue();
        assertThat(auth.acceptsQuery("a=1&access_token=s3cret%2Dtoken-0123456789")).isTrue();
        assertThat(auth.acceptsQuery(null)).isFalse();
        assertThat(auth.acceptsQuery("token=s3cret-token-0123456789")).isFalse();
        assertThat(auth.acceptsQuery("access_token=s3cret-token")).isFalse();
        assertThat(auth.acceptsQuery("access_token=")).isFalse();
        assertThat(auth.acceptsQuery("access_token=%zz")).as("a malformed escape is a wrong token, not an exception")
                .isFalse();
        assertThat(auth.acceptsQuery("access_token=%zz&access_token=s3cret-token-0123456789")).isTrue();
    }

    @Test
    void shouldRefuseABlankToken() {
        assertThatThrownBy(() -> new BearerAuth(" ")).isInstanceOf(IllegalArgumentException.class);
    }
}
