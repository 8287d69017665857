// Starts Swagger UI on /api/v1/docs. A file of its own: the Content-Security-Policy lets the
// pages run no inline script. The page gives the OpenAPI address in data-openapi-url.
const root = document.getElementById("swagger-ui")

window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // No badge from the online validator: the service runs without the internet.
  validatorUrl: null,
  persistAuthorization: false,
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
})
