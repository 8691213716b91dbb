using CallMedia.Hosting;

namespace CallMedia.UnitTests;

/// <summary>The request line as logs see it: secret values replaced, everything else exactly as the client sent it.</summary>
public sealed class SecretRedactionTests
{
    [Theory]
    [InlineData("?token=abc", "?token=***")]
    [InlineData("?id_call[]=1&token=abc&action=download", "?id_call[]=1&token=***&action=download")]
    [InlineData("?TOKEN=abc&Password=p", "?TOKEN=***&Password=***")]
    [InlineData("?jsessionid=ABC&sessionid=D&x=", "?jsessionid=***&sessionid=***&x=")]
    [InlineData("?x=1&&password=p=q&", "?x=1&&password=***&")]
    [InlineData("?my%74oken=abc", "?my%74oken=***")]
    [InlineData("?a+token=x", "?a+token=***")]
    [InlineData("?%20token%20=x", "?%20token%20=***")]
    [InlineData("?tok%en=x&token=y", "?tok%en=x&token=***")]
    [InlineData("?access_token=x", "?access_token=***")]
    public void Redact_ReplacesTheValuesOfSecretParametersOnly(string query, string expected) =>
        Assert.Equal(expected, SecretRedaction.Redact(query));

    [Theory]
    [InlineData("")]
    [InlineData("?")]
    [InlineData("?a=1&b=2")]
    [InlineData("?token")]
    [InlineData("?tok+en=1&to%6Ben")]
    public void Redact_OfAQueryWithNoSecretValue_IsNull(string query) =>
        Assert.Null(SecretRedaction.Redact(query));
}
