using System.Net;
using System.Text.RegularExpressions;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>The client side of the CallREC API, as existing integrations speak it.</summary>
public static partial class CallRec
{
    public const string Declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n";

    [GeneratedRegex("^<\\?xml version=\"1.0\" encoding=\"UTF-8\" \\?>\n<ok sessionid=\"([0-9A-F]{32})\" number=\"1\">Access is authorized.</ok>$")]
    private static partial Regex LoginOk();

    [GeneratedRegex("^<\\?xml version=\"1.0\" encoding=\"UTF-8\" \\?>\n<reply>([A-Za-z0-9]{20})</reply>\n$")]
    private static partial Regex Reply();

    public static async Task<string> LoginAsync(HttpClient client, string name = "demo", string password = TestServer.DemoPassword)
    {
        using var response = await client.PostAsync(
            "/callrec/loginservlet",
            new FormUrlEncodedContent([new("loginname", name), new("password", password)]));
        var body = await response.Content.ReadAsStringAsync();
        var match = LoginOk().Match(body);
        Assert.True(match.Success, $"login failed: {body}");
        LogSink.Shared.AddSecret(password);
        LogSink.Shared.AddSecret(match.Groups[1].Value);
        return match.Groups[1].Value;
    }

    public static HttpRequestMessage WithSession(this HttpRequestMessage request, string session)
    {
        request.Headers.Add("Cookie", $"JSESSIONID={session}");
        return request;
    }

    /// <summary>Asks for a token with a query string; returns the status and, on success, the token.</summary>
    public static async Task<(HttpStatusCode Status, string? Token, string Body)> TokenAsync(HttpClient client, string session, string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/callrec/downloadtoken?" + query).WithSession(session);
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var match = Reply().Match(body);
        if (match.Success)
        {
            LogSink.Shared.AddSecret(match.Groups[1].Value);
        }

        return (response.StatusCode, match.Success ? match.Groups[1].Value : null, body);
    }

    public static async Task<string> RequireTokenAsync(HttpClient client, string session, string query)
    {
        var (status, token, body) = await TokenAsync(client, session, query);
        Assert.True(status == HttpStatusCode.OK && token is not null, $"token request '{query}' answered {(int)status}: {body}");
        return token!;
    }

    /// <summary>GET of the send call file service with the session as a <c>;jsessionid=</c> path parameter.</summary>
    public static HttpRequestMessage Send(string session, string token, string ext = "mp3", HttpMethod? method = null) =>
        new(method ?? HttpMethod.Get, $"/callrec/sendcallfile.{ext};jsessionid={session}?token={token}");

    /// <summary>Downloads the zip a token request names and returns its <c>calldata.txt</c>, checking it comes first.</summary>
    public static async Task<string> ManifestAsync(HttpClient client, string session, string query)
    {
        var token = await RequireTokenAsync(client, session, query);
        using var response = await client.SendAsync(Send(session, token, "zip"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal("calldata.txt", zip.Entries[0].FullName);
        using var reader = new StreamReader(zip.Entries[0].Open());
        return await reader.ReadToEndAsync();
    }
}
