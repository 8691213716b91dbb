using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>An answer of /api/v1, already checked against the OpenAPI document.</summary>
public sealed record ApiResponse(HttpStatusCode Status, HttpResponseHeaders Headers, string? ContentType, string Body, ContentDispositionHeaderValue? Disposition = null)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string Detail => Json.GetProperty("detail").GetString()!;
}

/// <summary>
/// The client side of /api/v1 as the web app speaks it: JSON bodies, the session as the <c>JSESSIONID</c> cookie. Every
/// response is validated against the server's own OpenAPI document (<see cref="OpenApiValidator"/>).
/// </summary>
public sealed partial class ApiClient(HttpClient http, OpenApiValidator validator) : IDisposable
{
    private static readonly ConcurrentDictionary<Uri, Task<OpenApiValidator>> Validators = new();

    public string? Session { get; set; }

    /// <summary>Call ids for a request body.</summary>
    public static long[] Ids(params long[] ids) => ids;

    public HttpClient Http => http;

    public static async Task<ApiClient> CreateAsync(TestServer server)
    {
        var validator = await Validators.GetOrAdd(server.BaseAddress, async _ =>
        {
            using var client = server.CreateClient();
            return new OpenApiValidator(JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json")));
        });
        return new ApiClient(server.CreateClient(), validator);
    }

    [GeneratedRegex("^JSESSIONID=([0-9A-F]{32}); path=/; samesite=lax; httponly$", RegexOptions.IgnoreCase)]
    private static partial Regex SessionCookie();

    /// <summary>Signs in with the JSON API and keeps the session; asserts success and the cookie's attributes.</summary>
    public async Task<JsonElement> SignInAsync(string name = "demo", string password = TestServer.DemoPassword)
    {
        LogSink.Shared.AddSecret(password);
        var response = await SendAsync(HttpMethod.Post, "/api/v1/session", new { loginName = name, password });
        Assert.True(response.Status == HttpStatusCode.OK, $"sign-in of {name} answered {(int)response.Status}: {response.Body}");
        var cookie = response.Headers.GetValues("Set-Cookie").Single();
        var match = SessionCookie().Match(cookie);
        Assert.True(match.Success, $"cookie: {cookie}");
        Session = match.Groups[1].Value;
        LogSink.Shared.AddSecret(Session);
        return response.Json;
    }

    public Task<ApiResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<ApiResponse> PostAsync(string path, object? body) => SendAsync(HttpMethod.Post, path, body);

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, object? body = null, Action<HttpRequestMessage>? customize = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (Session is not null)
        {
            request.Headers.Add("Cookie", $"JSESSIONID={Session}");
        }

        if (body is not null || method == HttpMethod.Post)
        {
            var text = body as string ?? (body is null ? "" : JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
            request.Content = new StringContent(text, Encoding.UTF8, "application/json");
        }

        customize?.Invoke(request);
        using var response = await http.SendAsync(request);
        var answer = new ApiResponse(response.StatusCode, response.Headers, response.Content.Headers.ContentType?.ToString(), await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentDisposition);
        var problems = validator.Check(method.Method, path, (int)answer.Status, answer.ContentType, answer.Body);
        Assert.True(problems.Count == 0, $"{method} {path} → {(int)answer.Status} does not match the OpenAPI document:\n{string.Join('\n', problems)}\n{answer.Body}");
        if ((int)answer.Status >= 400)
        {
            Assert.StartsWith("application/problem+json", answer.ContentType);
            Assert.Equal((int)answer.Status, answer.Json.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrWhiteSpace(answer.Detail));
        }

        return answer;
    }

    public void Dispose() => http.Dispose();
}
