#version 330
// Terrain and flat overlays: per-vertex colour and normal, no instancing.
uniform mat4 p3d_ModelViewProjectionMatrix;

in vec4 p3d_Vertex;
in vec3 p3d_Normal;
in vec4 p3d_Color;

out vec3 v_color;
out vec3 v_normal;

void main() {
    v_color = p3d_Color.rgb;
    v_normal = p3d_Normal;
    gl_Position = p3d_ModelViewProjectionMatrix * p3d_Vertex;
}
