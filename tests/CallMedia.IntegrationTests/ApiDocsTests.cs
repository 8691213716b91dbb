using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

/// <summary>The OpenAPI document at /openapi/v1.json and the reference page at /api/docs, served by the executable itself.</summary>
public sealed partial class ApiDocsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task OpenApi_Document_DescribesEveryApiEndpointAndNothingElse()
    {
        using var client = Server.CreateClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));

        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);
        Assert.Equal(
            [
                "/api/v1/audit", "/api/v1/audit.csv", "/api/v1/audit/verify", "/api/v1/calls", "/api/v1/calls.csv", "/api/v1/calls/{id}", "/api/v1/calls/{id}/access",
                "/api/v1/calls/{id}/peaks", "/api/v1/calls/{id}/prepare", "/api/v1/jobs/{id}", "/api/v1/me",
                "/api/v1/retention/holds", "/api/v1/retention/holds/{id}/release", "/api/v1/retention/policies", "/api/v1/retention/policies/{id}", "/api/v1/retention/run",
                "/api/v1/session", "/api/v1/tokens",
            ],
            paths);
        var problem = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("ProblemDetails");
        Assert.Equal(["type", "title", "status", "detail"], problem.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
    }

    [GeneratedRegex("<script[^>]*src=\"([^\"]+)\"", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptSource();

    [Fact]
    public async Task Docs_ReferencePage_LoadsItsScriptsFromThisServerOnly()
    {
        using var client = Server.CreateClient();
        using var redirect = await client.GetAsync("/api/docs");
        var location = redirect.StatusCode == HttpStatusCode.OK ? "/api/docs" : new Uri(new Uri(Server.BaseAddress, "/api/docs"), redirect.Headers.Location!).AbsolutePath;
        using var page = await client.GetAsync(location);
        var html = await page.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("openapi/v1.json", html, StringComparison.Ordinal);
        var scripts = ScriptSource().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            Assert.DoesNotContain("//", script, StringComparison.Ordinal);
            using var asset = await client.GetAsync(new Uri(new Uri(Server.BaseAddress, location.TrimEnd('/') + "/"), script));
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.True((await asset.Content.ReadAsByteArrayAsync()).Length > 1000, script);
        }
    }
}
